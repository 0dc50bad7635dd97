{#- Engine-specific parsing, typing and hashing. Models call only these macros, never an engine's
    own function, so the same model runs on DuckDB (local) and Athena/Trino (production). -#}

{#- True when `expr` (text) matches `pattern` as a whole. Patterns use the syntax both engines share
    (RE2 on DuckDB, Java regex on Trino): character classes, groups, alternation, quantifiers. -#}
{% macro matches_regex(expr, pattern) -%}
    {{ return(adapter.dispatch('matches_regex')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__matches_regex(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro athena__matches_regex(expr, pattern) -%}
    regexp_like({{ expr }}, '^(?:{{ pattern }})$')
{%- endmacro %}

{#- The ISO-8601 timestamps the contracts accept: `T` or a space, optional fraction, optional `Z` or
    `+HH:MM`/`-HH:MM`. Hours 00-23: `24:00` is rejected rather than rolled into the next day. -#}
{% macro iso_timestamp_pattern() -%}
    [0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?
{%- endmacro %}

{#- Text -> UTC timestamp (microseconds), or null when the text is not a valid ISO-8601 timestamp.
    A timestamp without a zone is UTC. Digits beyond microseconds are truncated. -#}
{% macro parse_iso_timestamp(expr) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp')(expr)) }}
{%- endmacro %}

{% macro duckdb__parse_iso_timestamp(expr) -%}
    case
        when {{ matches_regex(expr, iso_timestamp_pattern()) }}
            then timezone(
                'UTC',
                try_cast(
                    case
                        when regexp_matches({{ expr }}, '(Z|[+-][0-9]{2}:[0-9]{2})$') then {{ expr }}
                        else {{ expr }} || '+00:00'
                    end as timestamp with time zone
                )
            )
    end
{%- endmacro %}

{#- Digits past the sixth are cut from the text before parsing: a cast to timestamp(6) would round them, and
    23:59:59.9999996 would move to the next day (DuckDB truncates). -#}
{% macro athena__parse_iso_timestamp(expr) -%}
    {%- set text = "regexp_replace(" ~ expr ~ ", '([.][0-9]{6})[0-9]+', '$1')" -%}
    case
        when {{ matches_regex(expr, iso_timestamp_pattern()) }}
            then cast(
                try(
                    at_timezone(
                        from_iso8601_timestamp_nanos(
                            replace(
                                case
                                    when regexp_like({{ text }}, '(Z|[+-][0-9]{2}:[0-9]{2})$') then {{ text }}
                                    else {{ text }} || 'Z'
                                end, ' ', 'T'
                            )
                        ),
                        'UTC'
                    )
                ) as {{ timestamp_type() }}
            )
    end
{%- endmacro %}

{#- The timestamp type of silver and gold columns: Iceberg on Athena stores microseconds. -#}
{% macro timestamp_type() -%}
    {{ return(adapter.dispatch('timestamp_type')()) }}
{%- endmacro %}

{% macro default__timestamp_type() -%}
    timestamp
{%- endmacro %}

{% macro athena__timestamp_type() -%}
    timestamp(6)
{%- endmacro %}

{#- Text -> bigint when the trimmed text is an integer literal (`200`, `-5`, `+7`), else null.
    `200.0`, `1.5` and `abc` are not integers: they are rejected, never rounded. -#}
{% macro parse_integer(expr) -%}
    case
        when {{ matches_regex(expr, '[+-]?[0-9]{1,18}') }} then cast({{ expr }} as bigint)
    end
{%- endmacro %}

{#- A stable hex digest of the given expressions (a list of SQL expressions), null-safe:
    a null and an empty string hash differently. -#}
{% macro hash_key(expressions) -%}
    {{ return(adapter.dispatch('hash_key')(expressions)) }}
{%- endmacro %}

{% macro hash_key_input(expressions) -%}
    {%- for expression in expressions -%}
        coalesce('v' || cast({{ expression }} as varchar), 'n')
        {%- if not loop.last %} || chr(31) || {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro duckdb__hash_key(expressions) -%}
    md5({{ hash_key_input(expressions) }})
{%- endmacro %}

{% macro athena__hash_key(expressions) -%}
    lower(to_hex(md5(to_utf8({{ hash_key_input(expressions) }}))))
{%- endmacro %}

{#- Text of a UTC timestamp at microsecond precision, the same on both engines
    (`YYYY-MM-DD HH:MM:SS.ffffff`); used in hash keys. -#}
{% macro timestamp_to_text(expr) -%}
    {{ return(adapter.dispatch('timestamp_to_text')(expr)) }}
{%- endmacro %}

{% macro duckdb__timestamp_to_text(expr) -%}
    strftime({{ expr }}, '%Y-%m-%d %H:%M:%S.%f')
{%- endmacro %}

{#- Not format_datetime(): Trino's Joda formatter rounds to milliseconds, so two requests microseconds apart
    would get one request_id, different from DuckDB's. A timestamp(6) cast to varchar prints all six digits. -#}
{% macro athena__timestamp_to_text(expr) -%}
    cast(cast({{ expr }} as timestamp(6)) as varchar)
{%- endmacro %}

{#- Text -> decimal(18,2) when the trimmed text is a plain decimal literal with at most two decimals
    (`12`, `12.5`, `-3.20`), else null. More decimals are rejected rather than rounded: money that
    does not fit cents is a data error, not something to guess at. -#}
{% macro parse_decimal(expr) -%}
    case
        when {{ matches_regex(expr, '[+-]?[0-9]{1,16}([.][0-9]{1,2})?') }} then cast({{ expr }} as decimal(18, 2))
    end
{%- endmacro %}

{#- Text -> date: an ISO date `YYYY-MM-DD`, or an ISO-8601 timestamp converted to UTC and cut to its
    date; null when it is neither (`2026-02-30` is null, never rolled over). -#}
{% macro parse_iso_date(expr) -%}
    case
        when {{ matches_regex(expr, '[0-9]{4}-[0-9]{2}-[0-9]{2}') }} then try_cast({{ expr }} as date)
        else cast({{ parse_iso_timestamp(expr) }} as date)
    end
{%- endmacro %}
