#!/bin/bash
# print-hello-world: print the test env values and the greeting; report CM_ENV_TEST3 back.

if [ "${CM_PRINT_HELLO_WORLD_SKIP_PRINT_ENV}" != "yes" ]; then
  echo ""
  echo "CM_ENV_TEST1 = ${CM_ENV_TEST1}"
  echo "CM_ENV_TEST2 = ${CM_ENV_TEST2}"
  echo "CM_ENV_TEST3 = ${CM_ENV_TEST3}"
  echo ""
fi

echo "HELLO WORLD!"
if [ -n "${CM_PRINT_HELLO_WORLD_TEXT}" ]; then
  echo "${CM_PRINT_HELLO_WORLD_TEXT}"
fi
echo ""

echo "CM_ENV_TEST3=${CM_ENV_TEST3:-TEST3}" > tmp-run-env.out
