"""Persistence: the schema, the connection, migrations and the queries of each resource."""
