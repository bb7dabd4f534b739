"""A paper's identity: title, authors, year, venue and identifiers, found offline, and citing.

``record`` is the identity as plain data (standard library only: the store, the
GUI and the wire read it); ``extract`` finds it in a Docling document and the
PDF's first pages and metadata (``sources``, ``names``); ``citations`` turns
identities into citation keys, BibTeX, RIS and "cite this passage".
"""
