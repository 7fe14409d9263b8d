-- Customers, current version; PII replaced by salted hashes; vendor deletes flagged.
{{ mart_current('customers', deletable=true, history='customers_history') }}
