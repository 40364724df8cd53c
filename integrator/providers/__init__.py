"""Vendor providers: every call to Google or Microsoft goes through these modules."""
