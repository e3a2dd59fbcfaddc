"""Building outgoing messages. Sending lives in ``webmail.mailaccess.smtp``."""
