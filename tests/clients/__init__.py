"""One client per door and one image helper, for every test that talks to a door.

base.py     HTTP (treq) and WebSocket (Autobahn) clients, raw HTTP bytes, timeouts
images.py   the PNG/JPEG bodies tests upload, multipart bodies by hand
rooms.py, social.py, campus.py, phone.py, directory.py
            each door's client: sign up, log in, its credential header, the common calls; the
            module functions are its methods for a one-off call (`register(http, server, ...)`)
staff.py    the staff pages at /admin/ (sign-in, forms, CSRF)
chats.py    the three chat doors (rooms, social, directory lobby) behind one interface
"""
