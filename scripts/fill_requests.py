import sqlite3, sys, uuid, json, datetime
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
req = c.execute("select id from users where email='requester@example.com'").fetchone()[0]
flow = c.execute("select id, name from approval_flows where name='GitHub Admin'").fetchone()
detail = json.dumps({"flow_version":1,"approver_requirement":"any","duration_seconds":3600,"device_id":None,"steps":[],"outcome":None,"error":None,"resubmitted_from":None})
base = datetime.datetime(2025,1,1)
rows = []
for i in range(n):
    t = (base + datetime.timedelta(seconds=i)).strftime('%Y-%m-%d %H:%M:%S.%f')
    rows.append((str(uuid.uuid4()), flow[0], flow[1], 'resource_request', 'manual', req, 'approved',
                 f'=cmd reason number {i} for the export test', detail, t, t, None, None, 2, None, 'assigned'))
c.executemany("insert into access_requests (id, flow_id, flow_name, kind, approval_type, requester_id, status, reason, detail, created_at, decided_at, decided_by, expires_at, version, open_key, approver_kind) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
c.commit()
print(c.execute("select count(*) from access_requests").fetchone()[0])
