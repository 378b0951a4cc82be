"""Names shared by the self-hosted test app (lambda_app.py, which needs its keys to import) and the tests."""

APP_ID = "self-hosted-lambda"
ORDER = "shop/order.placed"
APPROVED = "shop/order.approved"
TEN = "shop/ten.steps"
CHECKPOINTED = ".checkpointed"  # suffix of the events that start the checkpointed twins
FUNCTIONS = 5  # how many functions the app serves
