# Contract checks: OpenAPI lint, generated TypeScript and Python clients, Swagger UI in a browser.
