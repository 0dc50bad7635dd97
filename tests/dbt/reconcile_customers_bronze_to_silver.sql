{#- Every bronze customers record is either a version in silver.customer_versions or rejected in
    silver.customers_rejected, exactly once; silver.customers holds one version per customer_id. -#}
{{ bronze_accounting_failures(
    'customers',
    ref('customers_checked'),
    [ref('customer_versions'), ref('customers_rejected')],
    ref('customer_versions'),
    ref('customers'),
    'customer_id'
) }}
