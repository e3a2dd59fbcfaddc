"""The only package that speaks IMAP, POP3 and SMTP.

Everything outside it sees typed dataclasses (``types``) and domain errors
(``errors``); protocol libraries never leak out.
"""
