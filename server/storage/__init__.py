"""Everything that talks to MongoDB (with server/mongo.py)."""
