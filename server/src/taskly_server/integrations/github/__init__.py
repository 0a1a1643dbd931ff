"""GitHub's plumbing: the REST client (`client`) on its urllib3 connection (`transport`) behind a
circuit breaker (`breaker`), OAuth sign-in (`oauth`), and the encryption of tokens and webhook
secrets at rest (`crypto`)."""
