// Chinese first, English on request; the choice is remembered in localStorage.
// Names that come from the catalog (zones, banks, units, items) are shown as the server
// sends them (Chinese, with their codes): only the console's own words are translated.

const STORE_KEY = 'kf.lang';

const zh = {
  brand: '政银通办终端运维平台', skip: '跳到正文', lang_switch: 'English', logout: '退出',
  main_menu: '主菜单', live_on: '实时', live_off: '实时连接中断，正在重连',
  nav_fleet: '终端总览', nav_incidents: '故障工单', nav_bills: '账单', nav_weekly: '周报',
  nav_coverage: '覆盖进度', nav_assessments: '考核', nav_finder: '专区查询',
  role_operator: '运维管理员', role_technician: '运维技术员', role_bank: '银行', role_bureau: '政务服务局',
  login_title: '登录', user: '用户名', password: '密码', sign_in: '登录', signing_in: '正在登录…',
  public_finder_hint: '无需登录：查询服务专区地址、营业时间和当前可办事项',
  loading: '正在加载…', empty: '没有符合条件的记录', error: '出错了', retry: '重试',
  all: '全部', search: '搜索', filter: '筛选', clear: '清除筛选', refresh: '刷新',
  prev: '上一页', next: '下一页', rows_of: (a, b, n) => `第 ${a}–${b} 条，共 ${n} 条`,
  unit: '区县', bank: '银行', zone: '专区', state: '状态', status: '状态', kind: '类型',
  terminal: '终端', device: '设备号', since: '起始时间', parts: '不可用部件', faults: '故障',
  maintenance: '维护人员', items_out: '不可办事项', last_seen: '最后上报', address: '地址',
  hours: '营业时间', name: '名称', code: '代码', total: '合计', note: '备注', who: '操作人',
  at: '时间', event: '事件', detail: '说明', open: '打开',
  st_up: '正常', st_degraded: '部分可用', st_down: '停机', st_maintenance: '维护中', st_unknown: '未知',
  kind_kiosk: '一体机', kind_itm: 'ITM',
  fleet_title: '终端总览', fleet_map: '专区分布（区县 → 银行 → 专区，按实时状态着色）',
  fleet_map_note: '无地理数据：按区县、银行、专区分组的矩形图；面积为终端数，颜色为专区内最差的终端状态。点击专区可筛选列表。',
  fleet_list: '终端列表', q_placeholder: '终端号、设备号或专区名',
  terminals: '终端数', zones: '专区数',
  term_title: '终端', health: '健康状况', peripherals: '外设', timeline: '状态与工单时间线',
  registry: '登记信息', incidents_of: '工单', cpu: 'CPU', temp: '温度', mem_avail: '可用内存',
  disk_avail: '可用磁盘', uptime: '运行时长', net_up: '网络', usable: '可服务',
  periph: '外设', branch: '支行', lease: '租赁合同', agent: '代理版本', online: '在线',
  clock_offset: '时钟偏差', yes: '是', no: '否',
  inc_title: '故障工单', inc_open: '未关闭', inc_all: '全部', assignee: '负责人',
  cause: '原因', part: '部件', attribution: '归属', response_left: '响应剩余', restore_left: '修复剩余',
  breached: '超时', select_row: '选择', select_all: '全选本页',
  bulk_ack: (n) => `批量确认（${n}）`, bulk_note: '批量确认备注（可选）',
  outage: '批量停机', outage_children: (n) => `${n} 台终端`, expand: '展开', collapse: '收起',
  flat: '不合并批量停机',
  act_ack: '确认', act_onsite: '到场', act_resolve: '解决', act_close: '关闭', act_note: '备注',
  act_assign: '指派', assign_to: '指派给（技术员用户名）', action_text: '说明',
  action_sent: '已提交，等待 kioskd 处理…', action_done: (s) => `已处理：当前状态 ${s}`,
  action_pending: '已排队：kioskd 稍后处理', note_required: '解决需填写说明',
  history: '处理记录', inc_detail: '工单', acknowledged: '确认时间', acknowledged_by: '确认人',
  on_site: '到场时间', resolved: '解决时间', closed: '关闭时间', response_due: '响应期限', restore_due: '修复期限',
  opened: '立案时间', severity: '级别', readonly_bank: '银行用户只能查看工单，处理由运维公司进行。',
  istate_opened: '待确认', istate_acknowledged: '已确认', istate_on_site: '已到场', istate_resolved: '已解决',
  istate_closed: '已关闭', istate_reopened: '重新打开',
  attr_company: '运维公司', attr_bank_power: '银行供电', attr_bank_network: '银行网络', attr_bank_consumables: '银行耗材',
  attr_bank_vandalism: '人为损坏', attr_force_majeure: '不可抗力', cause_offline: '离线',
  br_response: '响应超时', br_restore: '修复超时', 'br_response,restore': '响应、修复超时',
  bills_title: '账单', month: '月份', number: '账单号', type: '类型', period: '所属期',
  issued: '开具时间', net: '不含税', tax: '税额', tax_rate: '税率', gross: '价税合计', download: '下载',
  bill_lines: '账单明细', line_no: '行号', days: '天数', unit_price: '单价', text: '说明',
  gross_capital: '大写', dispute: '对账单行提出异议', dispute_line: '有异议的行', dispute_reason: '理由',
  dispute_submit: '提交异议', dispute_short: '异议', dispute_sent: '异议已提交，运维公司将答复', disputes: '我的异议',
  answer: '答复', family: '类别', ds_open: '待答复', ds_accepted: '已接受', ds_refused: '已驳回', bill_bill: '账单', bill_credit_note: '红字通知单', yuan: '元',
  lk_lease: '租赁费', lk_maintenance: '维护费', lk_credit: 'SLA 抵扣', lk_penalty: 'SLA 违约金', lk_cap: '封顶', lk_adjustment: '更正调整',
  weekly_title: '周报', week: '周次', choose_week: '选择周次', draft: '草稿',
  ok: '办结', failed: '失败', abandoned: '放弃', ok_prev: '上周办结', ok_change: '环比',
  ok_per_day: '台日均办结', availability: '可用率', open_incidents: '未结工单',
  chart_activity: '各区县办结量（本周与上周）', chart_change: '各区县办结量环比',
  this_week: '本周', last_week: '上周', new_: '新增', busiest: '最活跃专区', quietest: '最不活跃专区',
  inactive_zones: '无业务专区', units_table: '区县汇总', rank: '名次', terminal_days: '终端服务日',
  zones_active: '活跃专区', reporting: '上报', commissioned: '投用', planned: '计划',
  cov_title: '覆盖进度（对照计划目标）', target: '目标', required: '要求', met: '达标', at_date: '截至',
  t_zones: '服务专区总数', t_banks: '参与银行', t_units: '达标区县（每区县≥10个专区）', t_itm_items: 'ITM 可办事项',
  t_families: '事项类别', chart_cov_units: '各区县专区数（投用 / 计划 / 目标）', zones_target: '目标专区',
  zones_commissioned: '投用专区', zones_planned: '计划专区', banks_table: '各银行',
  as_title: '半年考核', as_zones: '专区得分', as_banks: '银行排名', as_units: '区县汇总', watchlist: '观察名单',
  result: '结果', score: '得分', reason: '原因', pass: '合格', fail: '不合格', not_assessed: '未考核',
  pass_rate: '合格率', mean_score: '平均分', activity: '活跃度', assessed: '参评', passed: '合格数', failed_n: '不合格数',
  chart_bank_rank: '银行排名（合格率与平均分）', chart_score_dist: '专区得分分布', chart_unit_pass: '各区县合格 / 不合格',
  standing: '状态', streak: '连续不合格', last_period: '最近考核期', last_result: '最近结果', last_total: '最近得分',
  delisted_from: '摘牌日期', sd_ok: '正常', sd_watch: '观察', sd_proposed: '建议摘牌', sd_kept: '保留', sd_delisted: '已摘牌',
  finder_title: '服务专区查询', finder_hint: '查找附近的政银通办服务专区、营业时间和当前可办理的事项。',
  open_now: '现在营业', hours_weekday: '工作日', hours_weekend: '周末', hours_weekend_closed: '周末休息', list_sep: '；', in_service: '可用终端', items_available: '可办事项', only_open: '只看现在可办理的',
  login_needed: '请先登录', forbidden: '无权访问此页面', not_found: '页面不存在', back: '返回',
};

const en = {
  brand: 'Gov-Bank Service Terminals', skip: 'Skip to content', lang_switch: '中文', logout: 'Sign out',
  main_menu: 'Main menu', live_on: 'Live', live_off: 'Live updates lost, reconnecting',
  nav_fleet: 'Fleet', nav_incidents: 'Incidents', nav_bills: 'Bills', nav_weekly: 'Weekly report',
  nav_coverage: 'Coverage', nav_assessments: 'Assessments', nav_finder: 'Zone finder',
  role_operator: 'Operator', role_technician: 'Technician', role_bank: 'Bank', role_bureau: 'Bureau',
  login_title: 'Sign in', user: 'User', password: 'Password', sign_in: 'Sign in', signing_in: 'Signing in…',
  public_finder_hint: 'No sign-in needed: zones, addresses, opening hours and items available now',
  loading: 'Loading…', empty: 'Nothing matches', error: 'Something went wrong', retry: 'Retry',
  all: 'All', search: 'Search', filter: 'Filter', clear: 'Clear filters', refresh: 'Refresh',
  prev: 'Previous', next: 'Next', rows_of: (a, b, n) => `${a}–${b} of ${n}`,
  unit: 'Unit', bank: 'Bank', zone: 'Zone', state: 'State', status: 'Status', kind: 'Kind',
  terminal: 'Terminal', device: 'Device', since: 'Since', parts: 'Parts down', faults: 'Faults',
  maintenance: 'In maintenance by', items_out: 'Items out', last_seen: 'Last seen', address: 'Address',
  hours: 'Hours', name: 'Name', code: 'Code', total: 'Total', note: 'Note', who: 'By',
  at: 'At', event: 'Event', detail: 'Detail', open: 'Open',
  st_up: 'Up', st_degraded: 'Degraded', st_down: 'Down', st_maintenance: 'Maintenance', st_unknown: 'Unknown',
  kind_kiosk: 'Kiosk', kind_itm: 'ITM',
  fleet_title: 'Fleet', fleet_map: 'Zones by unit → bank → zone, coloured by live state',
  fleet_map_note: 'No geographic data: a treemap grouped by county-level unit, bank and zone; area is terminals, colour the worst terminal state in the zone. Click a zone to filter the list.',
  fleet_list: 'Terminals', q_placeholder: 'Terminal, device or zone name',
  terminals: 'Terminals', zones: 'Zones',
  term_title: 'Terminal', health: 'Health', peripherals: 'Peripherals', timeline: 'Timeline of states and incidents',
  registry: 'Registry', incidents_of: 'Incidents', cpu: 'CPU', temp: 'Temperature', mem_avail: 'Free memory',
  disk_avail: 'Free disk', uptime: 'Uptime', net_up: 'Network', usable: 'Usable',
  periph: 'Peripheral', branch: 'Branch', lease: 'Lease', agent: 'Agent', online: 'Online',
  clock_offset: 'Clock offset', yes: 'yes', no: 'no',
  inc_title: 'Incident queue', inc_open: 'Open', inc_all: 'All', assignee: 'Assignee',
  cause: 'Cause', part: 'Part', attribution: 'Attribution', response_left: 'Response left', restore_left: 'Restore left',
  breached: 'Breached', select_row: 'Select', select_all: 'Select all on page',
  bulk_ack: (n) => `Acknowledge selected (${n})`, bulk_note: 'Note for the acknowledgement (optional)',
  outage: 'Mass outage', outage_children: (n) => `${n} terminals`, expand: 'Expand', collapse: 'Collapse',
  flat: 'Do not group outages',
  act_ack: 'Acknowledge', act_onsite: 'On site', act_resolve: 'Resolve', act_close: 'Close', act_note: 'Note',
  act_assign: 'Assign', assign_to: 'Assign to (technician user)', action_text: 'Text',
  action_sent: 'Sent; waiting for kioskd to apply it…', action_done: (s) => `Applied: now ${s}`,
  action_pending: 'Queued: kioskd will apply it shortly', note_required: 'Resolving needs a note',
  history: 'History', inc_detail: 'Incident', acknowledged: 'Acknowledged', acknowledged_by: 'Acknowledged by',
  on_site: 'On site', resolved: 'Resolved', closed: 'Closed', response_due: 'Response due', restore_due: 'Restore due',
  opened: 'Opened', severity: 'Severity', readonly_bank: 'Banks see incidents read-only; the maintenance company works them.',
  istate_opened: 'opened', istate_acknowledged: 'acknowledged', istate_on_site: 'on site', istate_resolved: 'resolved',
  istate_closed: 'closed', istate_reopened: 'reopened',
  attr_company: 'company', attr_bank_power: 'bank: power', attr_bank_network: 'bank: network', attr_bank_consumables: 'bank: consumables',
  attr_bank_vandalism: 'bank: vandalism', attr_force_majeure: 'force majeure', cause_offline: 'offline',
  br_response: 'response', br_restore: 'restore', 'br_response,restore': 'response, restore',
  bills_title: 'Bills', month: 'Month', number: 'Number', type: 'Type', period: 'Period',
  issued: 'Issued', net: 'Net', tax: 'Tax', tax_rate: 'Tax rate', gross: 'Gross', download: 'Download',
  bill_lines: 'Lines', line_no: 'No.', days: 'Days', unit_price: 'Unit price', text: 'Text',
  gross_capital: 'In words', dispute: 'Dispute a line', dispute_line: 'Line disputed', dispute_reason: 'Reason',
  dispute_submit: 'Send dispute', dispute_short: 'Dispute', dispute_sent: 'Dispute sent; the company will answer', disputes: 'My disputes',
  answer: 'Answer', family: 'Family', ds_open: 'open', ds_accepted: 'accepted', ds_refused: 'refused', bill_bill: 'bill', bill_credit_note: 'credit note', yuan: 'yuan',
  lk_lease: 'Lease', lk_maintenance: 'Maintenance', lk_credit: 'SLA credit', lk_penalty: 'SLA penalty', lk_cap: 'Cap', lk_adjustment: 'Adjustment',
  weekly_title: 'Weekly report', week: 'Week', choose_week: 'Week', draft: 'DRAFT',
  ok: 'Completed', failed: 'Failed', abandoned: 'Abandoned', ok_prev: 'Completed, week before', ok_change: 'Change',
  ok_per_day: 'Completed / terminal-day', availability: 'Availability', open_incidents: 'Open incidents',
  chart_activity: 'Completed transactions by unit (this week and the week before)', chart_change: 'Change on the week before, by unit',
  this_week: 'This week', last_week: 'Week before', new_: 'new', busiest: 'Busiest zones', quietest: 'Quietest zones',
  inactive_zones: 'Zones with no activity', units_table: 'Units', rank: 'Rank', terminal_days: 'Terminal-days',
  zones_active: 'Active zones', reporting: 'Reporting', commissioned: 'Commissioned', planned: 'Planned',
  cov_title: 'Coverage against the plan', target: 'Target', required: 'Required', met: 'Met', at_date: 'As of',
  t_zones: 'Zones city-wide', t_banks: 'Banks', t_units: 'Units with ≥ 10 zones', t_itm_items: 'Items on ITMs',
  t_families: 'Service families', chart_cov_units: 'Zones by unit (commissioned / planned / target)', zones_target: 'Zone target',
  zones_commissioned: 'Zones commissioned', zones_planned: 'Zones planned', banks_table: 'Banks',
  as_title: 'Half-year assessment', as_zones: 'Zone scores', as_banks: 'Bank ranking', as_units: 'Units', watchlist: 'Watchlist',
  result: 'Result', score: 'Score', reason: 'Reason', pass: 'pass', fail: 'fail', not_assessed: 'not assessed',
  pass_rate: 'Pass rate', mean_score: 'Mean score', activity: 'Activity', assessed: 'Assessed', passed: 'Passed', failed_n: 'Failed',
  chart_bank_rank: 'Bank ranking (pass rate and mean score)', chart_score_dist: 'Zone scores', chart_unit_pass: 'Pass / fail by unit',
  standing: 'Standing', streak: 'Failures in a row', last_period: 'Last period', last_result: 'Last result', last_total: 'Last score',
  delisted_from: 'Delisted from', sd_ok: 'ok', sd_watch: 'watch', sd_proposed: 'proposed for delisting', sd_kept: 'kept', sd_delisted: 'delisted',
  finder_title: 'Find a service zone', finder_hint: 'Find a government-and-bank service zone near you, its hours and what it can do right now.',
  open_now: 'Open now', hours_weekday: 'Weekdays', hours_weekend: 'Weekends', hours_weekend_closed: 'closed at weekends', list_sep: '; ', in_service: 'Terminals in service', items_available: 'Items available', only_open: 'Only zones serving now',
  login_needed: 'Please sign in', forbidden: 'You may not see this page', not_found: 'No such page', back: 'Back',
};

const dicts = { zh, en };
let lang = localStorage.getItem(STORE_KEY) === 'en' ? 'en' : 'zh';

export function getLang() { return lang; }

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem(STORE_KEY, lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

// t('key') or t('key', args...) for the few entries that are functions. A missing key shows
// itself, so a gap is seen on screen rather than hidden.
export function t(key, ...args) {
  const v = dicts[lang][key] ?? dicts.zh[key];
  if (v === undefined) return key;
  return typeof v === 'function' ? v(...args) : v;
}

// A value from the server's vocabulary (a state, a kind) with its translation when we have one.
export function tv(prefix, value) {
  if (value === null || value === undefined) return '—';
  const k = prefix + value;
  return dicts[lang][k] ?? value;
}

setLang(lang);
