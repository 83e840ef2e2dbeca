"""SQLAlchemy models, sessions, queries and exports. No chat code."""
