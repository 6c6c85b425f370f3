"""One module per flow of the conversation; actions/router.py picks the flow for each message."""
