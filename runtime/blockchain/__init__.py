"""A blockchain node (issue 24): see docs/blockchain.md."""
