"""The ``openbureau`` command as a Python file, for ``spark-submit`` (which runs ``.py``
files, not console scripts)::

    JOB=$(python -c 'import openbureau.spark.submit as s; print(s.__file__)')
    spark-submit --master yarn ... "$JOB" score --engine spark --tables hdfs:///bureau/tables \\
        --model model --as-of 2025-05-01 --out hdfs:///bureau/scores/2025-05-01
"""

from openbureau.cli import main

if __name__ == "__main__":
    main()
