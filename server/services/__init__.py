"""Domain logic: functions on a database session that return domain objects (ORM rows, dataclasses), never
HTTP responses; they never import server/api. See docs/server.md."""
