#!/bin/sh
# A ProActive REST session with curl, as ProActive's documentation shows one: log in, submit a workflow
# with a variable, wait for the job, read its results and output, log out.
# Needs URL (e.g. http://127.0.0.1:8080), USERNAME, PASSWORD and WORKFLOW (a ProActive XML file).
set -eu

SESSION=$(curl -sf -d "username=$USERNAME" --data-urlencode "password=$PASSWORD" "$URL/rest/scheduler/login")

JOB=$(curl -sf -H "sessionid: $SESSION" -F "file=@$WORKFLOW;type=application/xml" \
  "$URL/rest/scheduler/submit;WHO=curl" | sed 's/.*"id":\([0-9]*\).*/\1/')
echo "submitted job $JOB"

tries=0
until curl -sf -H "sessionid: $SESSION" "$URL/rest/scheduler/jobs/$JOB/info" | grep -q '"status":"FINISHED"'; do
  tries=$((tries + 1)); [ "$tries" -lt 300 ] || { echo "job $JOB did not finish"; exit 1; }
  sleep 0.2
done

echo "results: $(curl -sf -H "sessionid: $SESSION" "$URL/rest/scheduler/jobs/$JOB/result/value")"
echo "Say: $(curl -sf -H "sessionid: $SESSION" "$URL/rest/scheduler/jobs/$JOB/tasks/Say/result/value")"
echo "output:"
curl -sf -H "sessionid: $SESSION" "$URL/rest/scheduler/jobs/$JOB/log/full"
curl -sf -X PUT -H "sessionid: $SESSION" "$URL/rest/scheduler/disconnect"
echo "connected: $(curl -sf -H "sessionid: $SESSION" "$URL/rest/scheduler/isconnected")"
