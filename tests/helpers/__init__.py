"""What tests share: generated PDFs, real worker processes, exact library checks,
the search-quality queries, and a raw view of a library for assertions."""
