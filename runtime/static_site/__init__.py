"""The secure static website: its CloudFront Function (``viewer_request.js``), the contract it shares with the
program, and the upload tool (``python -m runtime.static_site.upload``)."""
