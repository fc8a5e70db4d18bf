"""Loopback stand-ins of Okta and Jira that follow their published API contracts.

Each runs as a real HTTP server on 127.0.0.1 in a background thread, so the real
httpx and `jira` clients talk to it over sockets exactly as they would to the
service. Faults (429 storms, 5xx, slow answers, refused fields) are switched on by
the tests.
"""
