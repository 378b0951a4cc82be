"""Tests of inngest_serverless.testing, the in-process test engine."""
