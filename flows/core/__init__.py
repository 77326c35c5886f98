"""Pure, typed core: polars frames in, polars frames out; no Prefect, no filesystem, no clock."""
