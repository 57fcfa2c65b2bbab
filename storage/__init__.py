"""newsfold storage: SQLAlchemy models, the database connection and the repository."""
