"""WebSockets: Autobahn protocols mounted on Klein routes, with limits, and the socket hub."""
