-- Dovecot push_notification Lua driver: tell the webmail that a mailbox changed (webmail/push).
--
-- Each mail transaction (a delivery, an IMAP STORE, an EXPUNGE, an APPEND) collects its events;
-- when it commits, one POST carries them to the webmail as JSON, with the shared secret in an
-- Authorization header. Only folder names, event names and UIDs leave: no mail content.
-- Settings (plugin block): webmail_push_url, webmail_push_secret.
-- Needs the plugins notify, push_notification, mail_lua, push_notification_lua (dovecot-core).

local http_client = nil
-- After the webmail could not be reached, this process stops posting for a while (5 s, doubling
-- up to 60 s): Dovecot's HTTP client backs off between failed connects, and a wait there would
-- hold up the delivery or IMAP command that made the event. Events skipped meanwhile are not
-- lost to the user: a page that reconnects re-syncs, and the 45 s poll is the fallback.
local paused_until = 0
local pause = 0

local function json_string(s)
  s = tostring(s or "")
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    return string.format('\\u%04x', string.byte(c))
  end)
  return '"' .. s .. '"'
end

function dovecot_lua_notify_begin_txn(user)
  return {
    user = user.username,
    url = user:plugin_getenv("webmail_push_url"),
    secret = user:plugin_getenv("webmail_push_secret"),
    events = {},
  }
end

local function add(ctx, event)
  local item = '{"event":' .. json_string(event.name) .. ',"mailbox":' .. json_string(event.mailbox)
  if event.uid ~= nil then
    item = item .. ',"uid":' .. string.format("%d", event.uid)
  end
  table.insert(ctx.events, item .. '}')
end

function dovecot_lua_notify_event_message_new(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_message_append(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_message_expunge(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_flags_set(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_flags_clear(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_message_read(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_message_trash(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_mailbox_create(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_mailbox_delete(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_mailbox_rename(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_mailbox_subscribe(ctx, event) add(ctx, event) end
function dovecot_lua_notify_event_mailbox_unsubscribe(ctx, event) add(ctx, event) end

function dovecot_lua_notify_end_txn(ctx)
  if #ctx.events == 0 or ctx.url == nil or ctx.url == "" then
    return
  end
  local now = os.time()
  if now < paused_until then
    return
  end
  if http_client == nil then
    -- Short timeout, one attempt, (almost) no back-off between failed connects: a webmail that
    -- is down must not hold up delivery or an IMAP command, however many events come.
    http_client = dovecot.http.client({
      request_timeout_msecs = 2000,
      request_absolute_timeout_msecs = 2000,
      soft_connect_timeout_msecs = 1000,
      connect_backoff_time_msecs = 1,
      connect_backoff_max_time_msecs = 1,
      max_connect_attempts = 1,
      max_attempts = 1,
      no_auto_retry = true,
    })
  end
  local body = '{"user":' .. json_string(ctx.user) .. ',"events":[' .. table.concat(ctx.events, ",") .. ']}'
  local request = http_client:request({url = ctx.url, method = "POST"})
  request:add_header("Content-Type", "application/json")
  request:add_header("Authorization", "Bearer " .. (ctx.secret or ""))
  request:set_payload(body)
  local response = request:submit()
  local status = response:status()
  if status >= 9000 then
    -- Dovecot's own codes: the webmail could not be reached (connect failed, timed out...).
    pause = math.min(math.max(pause * 2, 5), 60)
    paused_until = now + pause
    dovecot.i_warning("webmail push: webmail unreachable (" .. status .. "), not posting for " .. pause .. " s")
  else
    pause = 0
    if status < 200 or status >= 300 then
      -- Never the secret or the body: the status only.
      dovecot.i_warning("webmail push: notification refused (HTTP " .. status .. ")")
    end
  end
end
