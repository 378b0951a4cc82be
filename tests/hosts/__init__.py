"""The hosts the GCF, Azure, Vercel, ASGI and WSGI adapters run under in tests."""
