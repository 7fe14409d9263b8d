-- Plans, current version; vendor deletes flagged from id snapshots.
{{ mart_current('plans', deletable=true) }}
