; Inno Setup 6 script for Credit Tray (Windows x64), built by packaging/build.py on Windows:
;
;   ISCC /DAppVersion=0.1.0 /DAppVersionWin=0.1.0.0 /DDistDir=<dist> /DIconFile=<build>\icons\credit-tray.ico
;        /O<dist> packaging\windows\credit-tray.iss
;
; Installs the PyInstaller one-folder app (dist\Credit Tray\) per user, without admin rights, into
; %LOCALAPPDATA%\Programs\Credit Tray. The Start-menu shortcut carries the AppUserModelID that the
; app also sets for itself at start (packaging/windows/pyi_rth_app_user_model_id.py), so toasts say
; "Credit Tray". Start at login is an option (the same HKCU Run value `credit-tray autostart on`
; writes). Uninstalling keeps the user's settings and state (%LOCALAPPDATA%\credit-tray) unless the
; user says yes to deleting them, or passes /DELETESETTINGS to a silent uninstall. API keys live in
; Windows Credential Manager and are never touched by the installer or the uninstaller.

#define AppName "Credit Tray"
#define AppExeName "Credit Tray.exe"
#define AppUserModelID "io.github.credittray.CreditTray"
#define AppPublisher "Credit Tray developers"
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef AppVersionWin
  #define AppVersionWin "0.0.0.0"
#endif
#ifndef DistDir
  #define DistDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\credit-tray.ico"
#endif

[Setup]
; A fixed GUID: it identifies the app across upgrades (never change it).
AppId={{7C5D3E1A-4B2F-4E8C-9A61-3F0D2B8C5E47}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
VersionInfoVersion={#AppVersionWin}
AppPublisher={#AppPublisher}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=CreditTray-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running tray holds its files open: let Restart Manager close it for an upgrade.
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "autostart"; Description: "Start {#AppName} when I log in"; GroupDescription: "Options:"; Flags: unchecked

[Files]
Source: "{#DistDir}\{#AppName}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"; AppUserModelID: "{#AppUserModelID}"; Comment: "Prepaid API credit balances in your tray"

[Registry]
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#AppName}"; ValueData: """{app}\{#AppExeName}"""; Tasks: autostart; Flags: uninsdeletevalue

[Run]
Filename: "{app}\{#AppExeName}"; Description: "Start {#AppName} now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Stop a running tray so its files can be removed (no error if it is not running).
Filename: "{sys}\taskkill.exe"; Parameters: "/F /IM ""{#AppExeName}"""; Flags: runhidden; RunOnceId: "StopCreditTray"

[UninstallDelete]
; The app itself leaves nothing in {app}; this catches Python's caches if any were written.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"

[Code]
function DeleteSettingsSwitch(): Boolean;
var
  I: Integer;
begin
  Result := False;
  for I := 1 to ParamCount do
    if CompareText(ParamStr(I), '/DELETESETTINGS') = 0 then
      Result := True;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DeleteSettings: Boolean;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    // Config, state and logs (platformdirs' folders for "credit-tray" on Windows). Kept by default.
    if UninstallSilent then
      DeleteSettings := DeleteSettingsSwitch()
    else
      DeleteSettings := MsgBox('Also delete your Credit Tray settings, balances history and logs?' + #13#10 +
        '(Your API keys stay in Windows Credential Manager either way.)',
        mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
    if DeleteSettings then
      DelTree(ExpandConstant('{localappdata}\credit-tray'), True, True, True);
  end;
end;
