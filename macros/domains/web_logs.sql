{#- The identity of a web request (its six business fields, hashed), over the typed columns of
    silver.web_logs_checked: requests carry no id, and identical records are one request. -#}
{% macro web_request_id() -%}
    {{ hash_key([timestamp_to_text('event_at'), 'user_id', 'endpoint', 'status_code', 'response_ms', 'user_agent']) }}
{%- endmacro %}

{#- The UTC event dates of the valid web_logs records in `window` over silver.web_logs_checked (the runs a
    web_requests build is about to read), as a list of 'YYYY-MM-DD': the only dates where those requests can
    already exist, and the dates the build touches. None on a first or full build (every date). -#}
{% macro web_logs_batch_event_dates(window) -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if window.empty -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if var('assume_changed_dates', none) is not none -%}
        {{ return(var('assume_changed_dates') | map('string') | list) }}
    {%- endif -%}
    {{ return(column_values(
        "select distinct cast(event_date as varchar) from " ~ ref('web_logs_checked') ~ " where "
        ~ window_filter(window) ~ " and reject_reason is null order by 1"
    )) }}
{%- endmacro %}
