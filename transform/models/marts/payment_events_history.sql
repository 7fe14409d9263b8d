-- Every observed version of each payment event with valid_from/valid_to.
{{ mart_history('events') }}
