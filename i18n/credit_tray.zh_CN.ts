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
        <extracomment>a file or folder the app uses, e.g. &quot;Config: /home/me/.config/credit-tray/config.toml&quot;.</extracomment>
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
        <translation>在托盘中显示预付费 API 点数余额。</translation>
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
    <name>DesktopNotifier</name>
    <message>
        <source>Open top-up page</source>
        <extracomment>Action keys: &quot;default&quot; is what a click on the notification does. Notification id -&gt; account id, for the ones still on screen.</extracomment>
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
        <extracomment>The ranges, by their English names (``set_range`` takes these); shown translated.</extracomment>
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
        <extracomment>Every recorded balance (first seen, last seen, amount) for the table, newest last. Which request this answers: only the latest choice of account and range is shown. a QLocale date pattern for the chart&apos;s axis: weekday and day of month (&quot;Tue 2&quot;).</extracomment>
        <translation>d日ddd</translation>
    </message>
    <message>
        <source>d MMM</source>
        <extracomment>a QLocale date pattern for the chart&apos;s axis: day and month (&quot;2 Dec&quot;).</extracomment>
        <translation>M月d日</translation>
    </message>
    <message>
        <source>History — {app}</source>
        <extracomment>Writes the summary line in the current language (again after a language switch).</extracomment>
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
        <extracomment>The latest result per account, so a refresh that breaks can still show the last balance. Results of the refresh under way.</extracomment>
        <translation>{file}：内部错误（{error}）</translation>
    </message>
</context>
<context>
    <name>TrayController</name>
    <message>
        <source>Demo: made-up accounts and balances</source>
        <extracomment>Makes the engine (off the GUI thread, after the icon shows): the engine and the log file it writes, if any. The tray shows alerts: its alert memory in the history goes by this name. How long to wait for a tray host before showing the balances window. Qt&apos;s answer already means &quot;no StatusNotifierWatcher with a host and no XEmbed tray owner&quot;, so by default the window shows at once; a tray that appears later (a panel starting after us at login) still gets the icon, and the window goes.</extracomment>
        <translation>演示：账户和余额均为虚构</translation>
    </message>
    <message>
        <source>{app}: internal error ({error}); please report it</source>
        <extracomment>Burn rate and run-out forecast, hidden when the history says nothing yet. The row&apos;s own commands (top up, copy, refresh, history): named again when the language changes. The state whose dot the row shows: a menu icon set again is sent again over D-Bus, so only on a change. Quit ends only this controller and calls this (the demo started from Settings), not the app. Rows whose results changed since the menu was last brought up to date (all of them: ``_all_dirty``). What the tray icon shows now: it is set (and sent over D-Bus, 7 sizes) only when this changes. The language the menu&apos;s words are in; a switch (config or Settings) names them all again. What the menu&apos;s passing lines say (they are written again in a new language).</extracomment>
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
