"""The HTTP micro-framework (operations, edge checks, OpenAPI) and the routes built on it."""
