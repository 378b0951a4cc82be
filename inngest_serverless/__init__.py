"""inngest-serverless: durable functions for serverless hosts, on the Inngest wire protocol."""
