"""The door toolkit: the site (body limit, access log), bodies (body.py), credentials
(credentials.py), request models (models.py) and JSON answers (answers.py)."""
