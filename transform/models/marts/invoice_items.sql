-- Invoice lines, current version; deleted draft lines flagged from id snapshots.
{{ mart_current('invoice_items', deletable=true) }}
