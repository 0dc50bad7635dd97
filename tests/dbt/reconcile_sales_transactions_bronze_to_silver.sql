{#- Every bronze sales_transactions record is either a version in silver.sales_transaction_versions or rejected in
    silver.sales_transactions_rejected, exactly once; silver.sales_transactions holds one version per transaction_id. -#}
{{ bronze_accounting_failures(
    'sales_transactions',
    ref('sales_transactions_checked'),
    [ref('sales_transaction_versions'), ref('sales_transactions_rejected')],
    ref('sales_transaction_versions'),
    ref('sales_transactions'),
    'transaction_id'
) }}
