"""Chats: one chat service (post, history, membership, read state) and the kinds built on it:
rooms, meeting chats, the directory lobby."""
