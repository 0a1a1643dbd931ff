"""Mechanisms every domain noun uses: the mutation/Change writer (`mutation`), the Principal
(`principal`) and access checks (`access`), batching (`batching`), the job runtime (`jobs`) and
the realtime notices (`notices`). Imports `db`, never `domain`."""
