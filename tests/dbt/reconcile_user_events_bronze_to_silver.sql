{#- Every bronze user_events record is either a version in silver.user_event_versions or rejected in
    silver.user_events_rejected, exactly once; silver.user_events holds one version per event_id. -#}
{{ bronze_accounting_failures(
    'user_events',
    ref('user_events_checked'),
    [ref('user_event_versions'), ref('user_events_rejected')],
    ref('user_event_versions'),
    ref('user_events'),
    'event_id'
) }}
