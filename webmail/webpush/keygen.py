"""Print a new VAPID private key for WEBMAIL_VAPID_PRIVATE_KEY: ``python -m webmail.webpush.keygen``."""

from webmail.webpush.vapid import generate_private_key

if __name__ == "__main__":
    print(generate_private_key())
