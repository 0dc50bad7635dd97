{#- hash_bigint(expr): a 64-bit hash of a varchar key, as a bigint, the same value on both engines: the first 8
    bytes of the MD5 of the key's UTF-8 bytes, read as a little-endian signed integer (in Python:
    int.from_bytes(hashlib.md5(key.encode()).digest()[:8], 'little', signed=True)).

    silver.user_event_keys keeps it for every delivery of a 36-character UUID `event_id`, so silver.user_events'
    lookup of its keys' current dates reads 8 bytes a row instead of about 20 (touched_dates() in
    macros/incremental/watermarks.sql). MD5, not the engine's own hash(): its value never changes with an engine
    upgrade, which would silently break the lookup of every row written before it. (hash_key() in
    macros/engine/parsing.sql is another thing: the MD5 of several columns as hex text, a surrogate key.) -#}
{% macro hash_bigint(expr) -%}
    {{ return(adapter.dispatch('hash_bigint')(expr)) }}
{%- endmacro %}

{#- md5_number_upper() is those 8 bytes as an unsigned little-endian integer; wrapped to signed through a decimal
    (a type the Athena dialect of the linter also parses). -#}
{% macro duckdb__hash_bigint(expr) -%}
    {%- set upper = 'md5_number_upper(' ~ expr ~ ')' -%}
    {{ return('cast(cast(' ~ upper ~ ' as decimal(20, 0)) - case when ' ~ upper ~ ' >= 9223372036854775808'
              ~ ' then 18446744073709551616 else 0 end as bigint)') }}
{%- endmacro %}

{% macro athena__hash_bigint(expr) -%}
    from_big_endian_64(reverse(substr(md5(to_utf8({{ expr }})), 1, 8)))
{%- endmacro %}
