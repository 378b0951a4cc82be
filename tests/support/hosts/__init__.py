"""The hosts the GCF, Azure, Vercel, ASGI and WSGI adapters run under in tests."""

APP_ID = "hosts-app"  # the app_id of tests/support/hosts/app.py
