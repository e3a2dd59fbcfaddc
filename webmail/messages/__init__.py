"""The lazy message model: part tree, display choice and MIME decoding.

Pure code: nothing here talks to a server. ``mailaccess`` hands us what
imapclient parsed (BODYSTRUCTURE, ENVELOPE, section bytes) and gets typed,
decoded values back.

- ``parts``: ``build_part_tree`` turns a BODYSTRUCTURE into a ``MimePart`` tree
  whose ``section`` values are ready for ``BODY.PEEK[<section>]``.
- ``choose``: ``choose_display`` decides what to show, what to offer as
  attachments and which parts ``cid:`` links point at.
- ``decode``: header, address and body decoding that never raises.
"""
