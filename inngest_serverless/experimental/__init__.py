"""The official SDK's ``inngest.experimental`` module names that this package has, so that an app
moves over by changing its imports: ``inngest_serverless.experimental.ai``."""

__all__: list[str] = []
