"""Database engine, sessions, column types and locks."""
