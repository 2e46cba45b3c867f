"""Audit trail stores: the interface (``base``), the records (``types``), a local folder
(``local``) and an in-memory fake (``fake``)."""
