{#- Generic data tests (written here because dbt hub packages cannot be installed offline).
    Each returns the failing rows: the test passes when the query returns none. -#}

{#- The model's grain: no two rows share the values of these columns (nulls count as values). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as rows_with_these_values
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{#- Every non-null value lies in [min_value, max_value] (either bound optional; `inclusive` applies to both). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    select {{ column_name }}
    from {{ model }}
    where
        {{ column_name }} is not null
        and (
            false
            {%- if min_value is not none %}
                or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
                or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
            {%- endif %}
        )
{% endtest %}

{#- Every row satisfies a boolean SQL expression. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}

{#- dbt's `relationships` test (every non-null value of the column is a `field` of `to`), with optional arguments that
    keep it to what the build changed (macros/tests/scope.sql), reading `to` on literal dates instead of in full:
    - `to_date_column`, the date column of `to` that holds the rows a row of this model comes from. For a
      date-grain model (on its own date, or month for a month-grain one): when this build rebuilt some dates of
      the model, its rows are tested on those dates, and `to` is read on the same dates only.
    - with `from_date` as well, for an entity-grain model (rebuild_when_changed()): an expression of the model's
      row that is a date of `to` holding that row's `field`, such as the date of a user's last event. When an
      incremental build rebuilt the model, the rows whose `from_date` is a date `to` touched in this build are
      tested, against `to` on those dates; a no-op build tests nothing. Every other row was tested by the build that
      last touched its date, and is tested by `make check-all`.
    Without them, or when the model is tested in full (a first or full build, `dbt test`, `make check-all`), `to` is
    read in full, as dbt's own test does. -#}
{% test relationships(model, column_name, to, field, to_date_column=none, from_date=none) %}
    {%- set child_scope = 'true' -%}
    {%- set parent_scope = 'true' -%}
    {%- set tested = tested_model_relation() if to_date_column is not none else none -%}
    {%- if tested is not none and from_date is not none -%}
        {%- set dates = upstream_touched_dates(tested, to.identifier) -%}
        {%- set child_scope = date_filter(from_date, dates) | trim -%}
        {%- set parent_scope = date_filter(to_date_column, dates) | trim -%}
    {%- elif tested is not none -%}
        {%- set parent_scope = rebuilt_dates_filter(tested, to_date_column) | trim -%}
    {%- endif %}
    with child as (
        select {{ column_name }} as from_field
        from {{ model }}
        where {{ column_name }} is not null and {{ child_scope }}
    ),

    parent as (
        select {{ field }} as to_field
        from {{ to }}
        where {{ parent_scope }}
    )

    select child.from_field
    from child
    left join parent
        on child.from_field = parent.to_field
    where parent.to_field is null
{% endtest %}
