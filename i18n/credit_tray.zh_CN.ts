<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About {app}</source>
        <translation>关于 {app}</translation>
    </message>
    <message>
        <source>not written</source>
        <translation>未写入</translation>
    </message>
    <message>
        <source>{name}: {path}</source>
        <translation>{name}：{path}</translation>
    </message>
    <message>
        <source>Config</source>
        <translation>配置文件</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>数据</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>Prepaid API credit balances in your tray.</source>
        <translation>在托盘中显示预付费 API 的积分余额。</translation>
    </message>
    <message>
        <source>API keys are kept in your OS keyring only.</source>
        <translation>API 密钥只保存在系统密钥环中。</translation>
    </message>
    <message>
        <source>Open &amp;config folder</source>
        <translation>打开配置文件夹(&amp;C)</translation>
    </message>
    <message>
        <source>Open &amp;data folder</source>
        <translation>打开数据文件夹(&amp;D)</translation>
    </message>
    <message>
        <source>Open &amp;log</source>
        <translation>打开日志(&amp;L)</translation>
    </message>
</context>
<context>
    <name>AccountDialog</name>
    <message>
        <source>Works: {balance}</source>
        <translation>测试成功：{balance}</translation>
    </message>
    <message>
        <source>Edit account</source>
        <translation>编辑账户</translation>
    </message>
    <message>
        <source>Add account</source>
        <translation>添加账户</translation>
    </message>
    <message>
        <source>Custom (any JSON endpoint)</source>
        <translation>自定义服务商（任意 JSON 接口）</translation>
    </message>
    <message>
        <source>Provider</source>
        <translation>服务商</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Account id</source>
        <translation>账户 ID</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 密钥</translation>
    </message>
    <message>
        <source>Alert thresholds</source>
        <translation>提醒阈值</translation>
    </message>
    <message>
        <source>Base URL</source>
        <translation>基础 URL</translation>
    </message>
    <message>
        <source>&amp;Provider:</source>
        <translation>服务商(&amp;P)：</translation>
    </message>
    <message>
        <source>&amp;Label:</source>
        <translation>名称(&amp;L)：</translation>
    </message>
    <message>
        <source>&amp;Id:</source>
        <translation>ID(&amp;I)：</translation>
    </message>
    <message>
        <source>API &amp;key:</source>
        <translation>API 密钥(&amp;K)：</translation>
    </message>
    <message>
        <source>&amp;Thresholds:</source>
        <translation>提醒阈值(&amp;T)：</translation>
    </message>
    <message>
        <source>&amp;Base URL:</source>
        <translation>基础 URL(&amp;B)：</translation>
    </message>
    <message>
        <source>{field} error</source>
        <translation>{field}：错误提示</translation>
    </message>
    <message>
        <source>A short unique name: lower-case letters, digits, &apos;-&apos; and &apos;_&apos;.</source>
        <translation>简短且唯一的 ID：只能包含小写字母、数字、“-”和“_”。</translation>
    </message>
    <message>
        <source>Paste the API key</source>
        <translation>粘贴 API 密钥</translation>
    </message>
    <message>
        <source>S&amp;how</source>
        <translation>显示(&amp;H)</translation>
    </message>
    <message>
        <source>Show the API key</source>
        <translation>显示 API 密钥</translation>
    </message>
    <message>
        <source>Show or hide the key as typed</source>
        <translation>显示或隐藏输入的密钥</translation>
    </message>
    <message>
        <source>&amp;Replace key…</source>
        <translation>更换密钥(&amp;R)…</translation>
    </message>
    <message>
        <source>Numbers separated by commas: you are alerted once when the balance drops below each. 0 is the alert that it has run out; leave 0 out for no such alert.</source>
        <translation>用逗号分隔的数字：余额每降到其中一个值以下，就提醒一次。0 表示余额已用完时的提醒；不需要这个提醒就不要写 0。</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>高级</translation>
    </message>
    <message>
        <source>A mirror or proxy: replaces the scheme, host and port of the provider&apos;s address.</source>
        <translation>镜像或代理：替换服务商地址中的协议、主机和端口。</translation>
    </message>
    <message>
        <source>T&amp;est</source>
        <translation>测试(&amp;E)</translation>
    </message>
    <message>
        <source>Test result</source>
        <translation>测试结果</translation>
    </message>
    <message>
        <source>Testing…</source>
        <translation>正在测试…</translation>
    </message>
    <message>
        <source>Checking the keyring…</source>
        <translation>正在检查系统密钥环…</translation>
    </message>
    <message>
        <source>A key is stored in your keyring.</source>
        <translation>系统密钥环中已存有密钥。</translation>
    </message>
    <message>
        <source>No key is stored yet.</source>
        <translation>尚未保存密钥。</translation>
    </message>
    <message>
        <source>Key from: {where} · unit: {unit}</source>
        <translation>密钥获取位置：{where} · 单位：{unit}</translation>
    </message>
    <message>
        <source>The custom provider is not complete: {problem}</source>
        <translation>自定义服务商尚未填写完整：{problem}</translation>
    </message>
    <message>
        <source>Choose a provider.</source>
        <translation>请选择服务商。</translation>
    </message>
    <message>
        <source>Give the account a label.</source>
        <translation>请为账户填写名称。</translation>
    </message>
    <message>
        <source>The label</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Use lower-case letters, digits, &apos;-&apos; and &apos;_&apos; (at most 64).</source>
        <translation>只能使用小写字母、数字、“-”和“_”（最多 64 个字符）。</translation>
    </message>
    <message>
        <source>The id {id} is already used by another account.</source>
        <translation>ID {id} 已被其他账户使用。</translation>
    </message>
    <message>
        <source>the base URL</source>
        <translation>基础 URL</translation>
    </message>
    <message>
        <source>Paste the API key from your provider&apos;s dashboard.</source>
        <translation>请从服务商的控制台复制 API 密钥，粘贴到这里。</translation>
    </message>
    <message>
        <source>The key must be one line.</source>
        <translation>密钥只能有一行。</translation>
    </message>
    <message>
        <source>This is not an API key as pasted: {problem}. Copy it again.</source>
        <translation>粘贴的内容不是有效的 API 密钥：{problem}。请重新复制。</translation>
    </message>
    <message>
        <source>the test failed</source>
        <translation>测试失败</translation>
    </message>
</context>
<context>
    <name>App</name>
    <message>
        <source>{app} is already running; asked it to refresh and show its menu.</source>
        <translation>{app} 已在运行，已请它立即刷新并显示菜单。</translation>
    </message>
    <message>
        <source>{app}: cannot write the log in {folder}: {reason}</source>
        <translation>{app}：无法在 {folder} 中写入日志：{reason}</translation>
    </message>
</context>
<context>
    <name>BalanceChart</name>
    <message>
        <source>{when}: about {amount} {unit} at the current pace</source>
        <translation>{when}：按目前的速度，约剩 {amount} {unit}</translation>
    </message>
    <message>
        <source>{when}: {amount} {unit} used</source>
        <translation>{when}：已用 {amount} {unit}</translation>
    </message>
    <message>
        <source>{when}: {amount} {unit}</source>
        <translation>{when}：{amount} {unit}</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>No balances recorded in this range yet</source>
        <translation>此时间段内还没有余额记录</translation>
    </message>
</context>
<context>
    <name>BalanceTable</name>
    <message>
        <source>From</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <source>Until</source>
        <translation>结束时间</translation>
    </message>
    <message>
        <source>Balance</source>
        <translation>余额</translation>
    </message>
    <message>
        <source>{amount} {unit}</source>
        <translation>{amount} {unit}</translation>
    </message>
</context>
<context>
    <name>BalancesWindow</name>
    <message>
        <source>No system tray was found, so Credit Tray shows your balances here. On GNOME, install the “AppIndicator and KStatusNotifierItem Support” extension and log in again; on other desktops, add a system tray (notification area) to a panel. Notifications still arrive either way.</source>
        <translation>没有找到系统托盘，所以 Credit Tray 在这里显示余额。在 GNOME 上，请安装“AppIndicator and KStatusNotifierItem Support”扩展并重新登录；在其他桌面上，请在面板中添加系统托盘（通知区域）。无论哪种情况，通知都会照常弹出。</translation>
    </message>
    <message>
        <source>Balances</source>
        <translation>余额</translation>
    </message>
    <message>
        <source>&amp;Refresh now</source>
        <translation>立即刷新(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
</context>
<context>
    <name>CustomProviderForm</name>
    <message>
        <source>Request</source>
        <translation>请求</translation>
    </message>
    <message>
        <source>Response</source>
        <translation>响应</translation>
    </message>
    <message>
        <source>Display</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Custom provider</source>
        <translation>自定义服务商</translation>
    </message>
    <message>
        <source>Start from preset</source>
        <translation>从预设开始</translation>
    </message>
    <message>
        <source>Start from a preset…</source>
        <translation>从预设开始…</translation>
    </message>
    <message>
        <source>Copy into a &amp;custom provider</source>
        <translation>复制为自定义服务商(&amp;C)</translation>
    </message>
    <message>
        <source>Edit a copy of this preset&apos;s fields as your own custom provider</source>
        <translation>复制这个预设的各字段，作为你自己的自定义服务商来编辑</translation>
    </message>
    <message>
        <source>{field}:</source>
        <translation>{field}：</translation>
    </message>
    <message>
        <source>{field} error</source>
        <translation>{field}：错误提示</translation>
    </message>
    <message>
        <source>Raw response</source>
        <translation>原始响应</translation>
    </message>
    <message>
        <source>Press Test: the provider&apos;s answer appears here (the key taken out).</source>
        <translation>点击“测试”后，服务商的响应会显示在这里（已去掉密钥）。</translation>
    </message>
    <message>
        <source>Parsed values</source>
        <translation>解析结果</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Path</source>
        <translation>路径</translation>
    </message>
    <message>
        <source>Found</source>
        <translation>找到的值</translation>
    </message>
    <message>
        <source>Test result</source>
        <translation>测试结果</translation>
    </message>
    <message>
        <source>Testing…</source>
        <translation>正在测试…</translation>
    </message>
    <message>
        <source>Custom</source>
        <translation>自定义</translation>
    </message>
    <message>
        <source>How this preset reads {name}; from {documentation}</source>
        <translation>此预设读取 {name} 余额的方式，依据：{documentation}</translation>
    </message>
    <message>
        <source>Fields are checked as you save; hover one to see what it holds.</source>
        <translation>保存时会检查各字段；把鼠标悬停在字段上可查看它的含义。</translation>
    </message>
    <message>
        <source>Any JSON balance endpoint: say below where it is and where the numbers are in its answer.</source>
        <translation>任意 JSON 余额接口：在下面填写接口地址，以及数字在响应中的位置。</translation>
    </message>
    <message>
        <source>no API key to test with</source>
        <translation>没有可用于测试的 API 密钥</translation>
    </message>
    <message>
        <source>the test failed</source>
        <translation>测试失败</translation>
    </message>
    <message>
        <source>No answer: {problem}</source>
        <translation>没有响应：{problem}</translation>
    </message>
</context>
<context>
    <name>DesktopNotifier</name>
    <message>
        <source>Open top-up page</source>
        <translation>打开充值页面</translation>
    </message>
    <message>
        <source>Open Settings</source>
        <translation>打开设置</translation>
    </message>
    <message>
        <source>Show balances</source>
        <translation>查看余额</translation>
    </message>
    <message>
        <source>Top up</source>
        <translation>充值</translation>
    </message>
    <message>
        <source>Snooze 1 hour</source>
        <translation>稍后提醒（1 小时）</translation>
    </message>
</context>
<context>
    <name>HistoryWindow</name>
    <message>
        <source>24 h</source>
        <translation>24 小时</translation>
    </message>
    <message>
        <source>7 d</source>
        <translation>7 天</translation>
    </message>
    <message>
        <source>30 d</source>
        <translation>30 天</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>ddd d</source>
        <extracomment>a QLocale date pattern for the chart&apos;s axis: weekday and day of month (&quot;Tue 2&quot;).</extracomment>
        <translation>d日ddd</translation>
    </message>
    <message>
        <source>d MMM</source>
        <extracomment>a QLocale date pattern for the chart&apos;s axis: day and month (&quot;2 Dec&quot;).</extracomment>
        <translation>M月d日</translation>
    </message>
    <message>
        <source>History — {app}</source>
        <translation>历史记录 — {app}</translation>
    </message>
    <message>
        <source>Account</source>
        <translation>账户</translation>
    </message>
    <message>
        <source>&amp;Account:</source>
        <translation>账户(&amp;A)：</translation>
    </message>
    <message>
        <source>Show {range}</source>
        <translation>显示{range}</translation>
    </message>
    <message>
        <source>E&amp;xport CSV…</source>
        <translation>导出 CSV(&amp;X)…</translation>
    </message>
    <message>
        <source>Balance</source>
        <translation>余额</translation>
    </message>
    <message>
        <source>Used per day</source>
        <translation>每日用量</translation>
    </message>
    <message>
        <source>&amp;Chart</source>
        <translation>图表(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Table</source>
        <translation>表格(&amp;T)</translation>
    </message>
    <message>
        <source>No accounts to show yet: add one in Settings.</source>
        <translation>还没有可显示的账户：请在设置中添加。</translation>
    </message>
    <message>
        <source>{pace}.</source>
        <extracomment>the pace and forecast made a sentence, e.g. &quot;Uses about 200 credits a day.&quot;</extracomment>
        <translation>{pace}。</translation>
    </message>
    <message>
        <source>Not enough history yet for a burn rate.</source>
        <translation>历史记录还不够，暂时算不出消耗速度。</translation>
    </message>
    <message>
        <source>{first} {second}</source>
        <extracomment>two sentences one after the other (Chinese needs no space between them).</extracomment>
        <translation>{first}{second}</translation>
    </message>
    <message>
        <source>Export history</source>
        <translation>导出历史记录</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Could not export to {path}: {reason}</source>
        <translation>无法导出到 {path}：{reason}</translation>
    </message>
</context>
<context>
    <name>RefreshWorker</name>
    <message>
        <source>{file}: internal error ({error})</source>
        <translation>{file}：内部错误（{error}）</translation>
    </message>
</context>
<context>
    <name>SettingsBackend</name>
    <message>
        <source>internal error ({name})</source>
        <translation>内部错误（{name}）</translation>
    </message>
    <message>
        <source>choose a provider</source>
        <translation>请选择服务商</translation>
    </message>
    <message>
        <source>no API key to test with</source>
        <translation>没有可用于测试的 API 密钥</translation>
    </message>
    <message>
        <source>The config file has an error, so nothing was changed: {error}</source>
        <translation>配置文件有错误，因此没有做任何更改：{error}</translation>
    </message>
    <message>
        <source>Key unavailable: {error}</source>
        <translation>无法读取密钥：{error}</translation>
    </message>
    <message>
        <source>Could not write {file}: {reason}</source>
        <translation>无法写入 {file}：{reason}</translation>
    </message>
    <message>
        <source>the config file</source>
        <translation>配置文件</translation>
    </message>
</context>
<context>
    <name>SettingsWindow</name>
    <message>
        <source>Automatic (system language)</source>
        <translation>自动（跟随系统语言）</translation>
    </message>
    <message>
        <source>Remove “{label}” ({provider})? Its API key will be deleted from your keyring.</source>
        <translation>要删除“{label}”（{provider}）吗？它的 API 密钥将从系统密钥环中删除。</translation>
    </message>
    <message>
        <source>Remove account</source>
        <translation>删除账户</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>删除(&amp;R)</translation>
    </message>
    <message>
        <source>&lt;b&gt;Welcome to Credit Tray.&lt;/b&gt; It watches the prepaid credits of your API accounts and warns you before they run out. Add an account with its API key to begin: the key is stored in your system&apos;s keyring, never in a file. Balances then show in the tray icon&apos;s menu.</source>
        <translation>&lt;b&gt;欢迎使用 Credit Tray。&lt;/b&gt;它会监控你各个 API 账户的预付积分，并在用完之前提醒你。添加账户并填写其 API&amp;nbsp;密钥即可开始：密钥保存在系统密钥环中，绝不写入文件。之后，余额会显示在托盘图标的菜单中。</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Try the &amp;demo first</source>
        <translation>先试试演示(&amp;D)</translation>
    </message>
    <message>
        <source>Made-up accounts whose balances drain, with no keys and no network</source>
        <translation>虚构的账户，余额会逐渐减少；不需要密钥，也不联网</translation>
    </message>
    <message>
        <source>Accounts</source>
        <translation>账户</translation>
    </message>
    <message>
        <source>On</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Provider</source>
        <translation>服务商</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Last balance</source>
        <translation>最近余额</translation>
    </message>
    <message>
        <source>&amp;Add…</source>
        <translation>添加(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;Edit…</source>
        <translation>编辑(&amp;E)…</translation>
    </message>
    <message>
        <source>&amp;Remove…</source>
        <translation>删除(&amp;R)…</translation>
    </message>
    <message>
        <source>Move &amp;up</source>
        <translation>上移(&amp;U)</translation>
    </message>
    <message>
        <source>Move do&amp;wn</source>
        <translation>下移(&amp;W)</translation>
    </message>
    <message>
        <source>&amp;History…</source>
        <translation>历史记录(&amp;H)…</translation>
    </message>
    <message>
        <source>General</source>
        <translation>常规</translation>
    </message>
    <message>
        <source>&amp;Check every:</source>
        <translation>刷新间隔(&amp;C)：</translation>
    </message>
    <message>
        <source> min</source>
        <extracomment>after the number of minutes in &quot;Check every: 15 min&quot;; keep the leading space.</extracomment>
        <translation> 分钟</translation>
    </message>
    <message>
        <source>Refresh interval in minutes</source>
        <translation>刷新间隔（分钟）</translation>
    </message>
    <message>
        <source>Desktop &amp;notifications on low balances</source>
        <translation>余额不足时发送桌面通知(&amp;N)</translation>
    </message>
    <message>
        <source>Show the lowest balance on the &amp;icon</source>
        <translation>在托盘图标上显示最低余额(&amp;I)</translation>
    </message>
    <message>
        <source>Warn before running &amp;out:</source>
        <translation>用完前提醒(&amp;O)：</translation>
    </message>
    <message>
        <source>Never</source>
        <translation>从不</translation>
    </message>
    <message>
        <source>Warn when a balance will run out within this many days</source>
        <translation>余额预计在指定天数内用完时提醒</translation>
    </message>
    <message>
        <source>At the current pace, from the reading history; 0 turns the warning off.</source>
        <translation>根据余额历史记录，按当前消耗速度估算；设为 0 则关闭此提醒。</translation>
    </message>
    <message>
        <source>Tell me when a balance is &amp;topped up</source>
        <translation>余额充值后通知我(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Start at login</source>
        <translation>登录时启动(&amp;S)</translation>
    </message>
    <message>
        <source>Interface &amp;language:</source>
        <translation>界面语言(&amp;L)：</translation>
    </message>
    <message>
        <source>Language of the interface and of provider messages</source>
        <translation>界面和服务商消息使用的语言</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>The config file has an error, so changes here are off until it is fixed (edit the file, or undo the edit): {error}</source>
        <translation>配置文件有错误，修复之前无法在这里更改设置（请编辑该文件，或撤销刚才的修改）：{error}</translation>
    </message>
    <message>
        <source>{label} enabled</source>
        <translation>启用 {label}</translation>
    </message>
    <message>
        <source>Config error: {problem}</source>
        <translation>配置错误：{problem}</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>Not checked yet</source>
        <translation>尚未查询</translation>
    </message>
</context>
<context>
    <name>TrayController</name>
    <message>
        <source>Demo: made-up accounts and balances</source>
        <translation>演示：账户和余额均为虚构</translation>
    </message>
    <message>
        <source>{app}: internal error ({error}); please report it</source>
        <translation>{app}：内部错误（{error}），请报告此问题</translation>
    </message>
    <message>
        <source>&amp;Refresh now</source>
        <translation>立即刷新(&amp;R)</translation>
    </message>
    <message>
        <source>For 1 hour</source>
        <translation>1 小时</translation>
    </message>
    <message>
        <source>For 8 hours</source>
        <translation>8 小时</translation>
    </message>
    <message>
        <source>Until tomorrow</source>
        <translation>直到明天</translation>
    </message>
    <message>
        <source>Resume notifications</source>
        <translation>恢复通知</translation>
    </message>
    <message>
        <source>&amp;History…</source>
        <translation>历史记录(&amp;H)…</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>Show &amp;balances window</source>
        <translation>显示余额窗口(&amp;B)</translation>
    </message>
    <message>
        <source>&amp;About {app}</source>
        <translation>关于 {app}(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Add an account…</source>
        <translation>添加账户(&amp;A)…</translation>
    </message>
    <message>
        <source>Can&apos;t save balances: {error}</source>
        <translation>无法保存余额：{error}</translation>
    </message>
    <message>
        <source>Hook failed: {message}</source>
        <translation>钩子命令失败：{message}</translation>
    </message>
    <message>
        <source>Can&apos;t write metrics: {message}</source>
        <translation>无法写入指标：{message}</translation>
    </message>
    <message>
        <source>Open &amp;top-up page</source>
        <translation>打开充值页面(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Copy balance</source>
        <translation>复制余额(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Refresh this account</source>
        <translation>刷新此账户(&amp;R)</translation>
    </message>
    <message>
        <source>Config error: {message}</source>
        <translation>配置文件错误：{message}</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>正在查询…</translation>
    </message>
    <message>
        <source>No balance fetched yet</source>
        <translation>尚未获取到余额</translation>
    </message>
    <message>
        <source>{fetched}: {balance}</source>
        <extracomment>&quot;Fetched 3 h ago: 9,999 credits&quot; (when it was fetched, then the balance then).</extracomment>
        <translation>{fetched}：{balance}</translation>
    </message>
    <message>
        <source>S&amp;nooze notifications</source>
        <translation>稍后提醒(&amp;N)</translation>
    </message>
    <message>
        <source>S&amp;nooze notifications (until {until})</source>
        <extracomment>{until} is a weekday and a time, e.g. &quot;Tue 14:05&quot;.</extracomment>
        <translation>稍后提醒(&amp;N)（至 {until}）</translation>
    </message>
    <message>
        <source>This is the demo: its accounts are made up. Start {app} without --demo to add your own.</source>
        <translation>这是演示：其中的账户都是虚构的。不带 --demo 启动 {app} 即可添加你自己的账户。</translation>
    </message>
</context>
<context>
    <name>UsageBars</name>
    <message>
        <source>{day}: {amount} {unit} used</source>
        <translation>{day}：已用 {amount} {unit}</translation>
    </message>
    <message>
        <source>No usage recorded in this range yet</source>
        <translation>此时间段内还没有用量记录</translation>
    </message>
</context>
<context>
    <name>_Loader</name>
    <message>
        <source>Can&apos;t read the history: {error}</source>
        <translation>无法读取历史记录：{error}</translation>
    </message>
    <message>
        <source>Can&apos;t read the history ({error})</source>
        <translation>无法读取历史记录（{error}）</translation>
    </message>
</context>
</TS>
