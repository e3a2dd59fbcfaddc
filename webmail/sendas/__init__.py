""" "Send mail as": other addresses a user owns, proved by a message to them, sent through
our submission server (domains the admin allows) or the other provider's SMTP server."""
